# Example deployment values for the dev stage (cdktf.out/stacks/wschat-dev). Copy, fill in, and pass with
#   terraform plan -var-file=dev.tfvars
# Every variable the stack declares is here; the test suite plans this file with real terraform.

# The token issuer the authorizer trusts (dev has no user pool of its own).
jwt_issuer   = "https://login.example.com/"
jwt_audience = "wschat-dev"
jwks_url     = "https://login.example.com/.well-known/jwks.json"

# The canary's machine client at the same issuer (client-credentials grant): it asks for canary_scope and the
# authorizer accepts its tokens for the canary room only. The secret lands in the stage's Secrets Manager secret
# (and in the Terraform state, like every secret Terraform writes): pass it with TF_VAR_canary_client_secret from
# the pipeline's secret store rather than committing it.
canary_token_endpoint = "https://login.example.com/oauth2/token"
canary_client_id      = "wschat-dev-canary"
canary_client_secret  = "replace-with-the-client-secret"
canary_scope          = "wschat/canary"

# Who hears about alarms. Ticket targets also get the budget notifications (80% actual, 100% forecast).
# Dev pages nobody unless you add a target; HTTPS endpoints are PagerDuty / Opsgenie event URLs.
page_alarm_emails            = []
page_alarm_https_endpoints   = []
ticket_alarm_emails          = ["chat-team@example.com"]
ticket_alarm_https_endpoints = []

# The team's AWS Chatbot Slack channel gets both topics (authorise the workspace in the Chatbot console first;
# null for none). A channel is not a page target: it wakes nobody.
alarm_slack_channel = {
  workspace_id = "T0123ABCDEF"
  channel_id   = "C0DEVALARMS"
  iam_role_arn = "arn:aws:iam::111122223333:role/wschat-chatbot"
}

# Where alarm descriptions link runbooks (<base>/dashboards/runbooks/<alarm>.md).
runbook_base_url = "https://github.com/wschat/wschat/blob/main"

# Monthly AWS Budgets amount in USD for the stage (docs/capacity.md estimates it from traffic).
monthly_budget_usd = 100

# This account's organization trail already records management and data events, so dev adds no trail.
organization_trail_exists = true

# Browser origins of the chat pages that upload and download attachments straight to the bucket (its CORS rule).
attachment_cors_origins = ["https://chat-dev.example.com"]
