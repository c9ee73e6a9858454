"""The LLM agents: writer, shot planner, continuity reviewer."""
