"""Everything that is not an agent: plan models, ingest, planning, graph, render, assembly."""
