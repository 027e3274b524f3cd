"""Real SDK clients pointed at the sandbox purely by configuration, as the operator will do it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.identity import ClientSecretCredential
from azure.mgmt.datafactory import DataFactoryManagementClient
from databricks.sdk import WorkspaceClient
from jira import JIRA
from openai import AzureOpenAI, OpenAI
from slack_sdk import WebClient

from sandbox.testing import RunningSandbox


@pytest.fixture
def adf(sandbox: RunningSandbox) -> Iterator[DataFactoryManagementClient]:
    e, c = sandbox.endpoints, sandbox.endpoints.credentials
    credential = ClientSecretCredential(
        c.azure_tenant_id, c.azure_client_id, c.azure_client_secret,
        authority=e.azure_authority_host, disable_instance_discovery=True, connection_verify=str(e.ca_file),
    )
    client = DataFactoryManagementClient(credential, c.azure_subscription_id, base_url=e.resource_manager_url,
                                         connection_verify=str(e.ca_file))
    yield client
    client.close()
    credential.close()


@pytest.fixture
def databricks(sandbox: RunningSandbox) -> WorkspaceClient:
    e = sandbox.endpoints
    return WorkspaceClient(host=e.databricks_host, token=e.credentials.databricks_token)


@pytest.fixture
def slack(sandbox: RunningSandbox) -> WebClient:
    e = sandbox.endpoints
    return WebClient(token=e.credentials.slack_bot_token, base_url=e.slack_api_url)


@pytest.fixture
def jira(sandbox: RunningSandbox) -> Iterator[JIRA]:
    e = sandbox.endpoints
    client = JIRA(server=e.jira_url, basic_auth=(e.credentials.jira_user, e.credentials.jira_api_token))
    yield client
    client.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def openai_client(sandbox: RunningSandbox) -> Iterator[OpenAI]:
    e = sandbox.endpoints
    client = OpenAI(base_url=e.llm_base_url, api_key=e.credentials.llm_api_key, max_retries=0)
    yield client
    client.close()


@pytest.fixture
def azure_openai(sandbox: RunningSandbox) -> Iterator[AzureOpenAI]:
    e = sandbox.endpoints
    client = AzureOpenAI(azure_endpoint=e.azure_openai_endpoint, api_key=e.credentials.llm_api_key,
                         api_version="2024-10-21", max_retries=0)
    yield client
    client.close()
