"""The graphs for LangGraph Studio / LangGraph Server (langgraph.json points here).

Compiled without a checkpointer: the platform brings its own persistence and refuses a graph
that carries one. Loaded by file path, so it imports the installed package absolutely.
"""

from microdrama.pipeline.graph.wiring import build_planning_graph, build_render_graph

planning = build_planning_graph().compile()
render = build_render_graph().compile()
