"""`needle mcp`: the library as a Model Context Protocol server on stdio (docs/mcp.md)."""
