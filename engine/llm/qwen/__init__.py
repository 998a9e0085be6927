"""Exact token counts for Qwen models, from the Qwen BPE vocabulary shipped in this folder."""
