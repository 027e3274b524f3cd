"""The external services the operator talks to through their SDKs: Azure, Databricks, Jira, Slack."""
