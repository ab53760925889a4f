# Example deployment values for the prod stage (cdktf.out/stacks/wschat-prod). Copy, fill in, and pass with
#   terraform plan -var-file=prod.tfvars
# Every variable the stack declares is here; the test suite plans this file with real terraform.

# The customer-managed key: tables, log groups, Lambda environment variables, alarm topics, dead-letter queue.
# Its key policy must let CloudWatch Logs, CloudWatch and AWS Budgets use it (docs/operations.md#customer-managed-key).
kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

# The host name clients connect to and its certificate (in the stage's Region). The execute-api endpoint is off.
custom_domain_name            = "chat.example.com"
custom_domain_certificate_arn = "arn:aws:acm:us-east-1:111122223333:certificate/1234abcd-12ab-34cd-56ef-1234567890ab"

# The Route 53 hosted zone of example.com: the stack creates the alias record. Leave "" to manage DNS yourself.
route53_zone_id = "Z0123456789ABCDEFGHIJ"

# Who is paged and ticketed (docs/operations.md#paging). prod refuses to plan without a page email or HTTPS
# endpoint: a PagerDuty Events API v2 / Opsgenie CloudWatch integration URL, subscribed as an SNS HTTPS subscription.
page_alarm_https_endpoints   = ["https://events.pagerduty.com/integration/0123456789abcdef0123456789abcdef/enqueue"]
page_alarm_emails            = ["oncall@example.com"]
ticket_alarm_https_endpoints = []
ticket_alarm_emails          = ["chat-team@example.com"]

# Optional AWS Chatbot Slack channel for both topics (authorise the workspace in the Chatbot console first). Not a
# page target: a channel wakes nobody. null for none.
alarm_slack_channel = {
  workspace_id = "T0123ABCDEF"
  channel_id   = "C0123ABCDEF"
  iam_role_arn = "arn:aws:iam::111122223333:role/wschat-chatbot"
}

# Where alarm descriptions link runbooks (<base>/dashboards/runbooks/<alarm>.md); a fork or wiki mirror sets its own.
runbook_base_url = "https://github.com/wschat/wschat/blob/main"

monthly_budget_usd = 2000

# No organization trail records this account: prod keeps its own trail (management + data events).
organization_trail_exists = false

# Browser origins of the chat pages that upload and download attachments straight to the bucket (its CORS rule).
attachment_cors_origins = ["https://chat.example.com"]
