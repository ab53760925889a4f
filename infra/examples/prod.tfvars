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

page_alarm_emails   = ["oncall@example.com"]
ticket_alarm_emails = ["chat-team@example.com"]

monthly_budget_usd = 2000

# No organization trail records this account: prod keeps its own trail (management + data events).
organization_trail_exists = false
