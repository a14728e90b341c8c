"""Simulated agents for demos and benchmarks: real HTTP, the real agent's protocol code."""
