"""Local stand-in for the cloud services aiops-rca talks to.

One server speaks the real wire protocols of the slices of Azure AD, Azure Data
Factory, Databricks, Slack, Jira and an OpenAI-compatible LLM that the operator
uses, so the operator and the end-to-end tests run the vendors' own SDKs
against it, configured only by base URLs, credentials and a CA bundle.
"""
