"""The production graph for LangGraph Studio / LangGraph Server (langgraph.json points here).

Compiled without a checkpointer: the platform brings its own persistence and refuses a graph
that carries one. Loaded by file path, so it imports the installed package absolutely.
"""

from microdrama.pipeline.graph.production import build_graph

graph = build_graph().compile()
