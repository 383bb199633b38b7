"""Framework adapters, each an optional entry point with its own extra; the core imports none of them.

* ``keycloak_agent_auth.adapters.langgraph`` (``pip install "keycloak-agent-auth[langgraph]"``):
  ``ConnectionRequired`` as a LangGraph ``interrupt``; resume waits for the connection and retries.
* ``keycloak_agent_auth.adapters.openai_agents`` (``pip install "keycloak-agent-auth[openai-agents]"``):
  ``ConnectionRequired`` as an OpenAI Agents SDK tool approval (``needs_approval`` / ``RunResult.interruptions``).
"""
