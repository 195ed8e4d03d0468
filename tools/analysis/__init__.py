"""Analyst moves over any order or transaction table: compare periods, explain a change, spot anomalies.

Plain functions (:mod:`.periods`, :mod:`.compare`, :mod:`.explain`, :mod:`.anomalies`) that build
their SQL through :func:`tools.query_spec.compile_query`, so they run on DuckDB and PostgreSQL alike;
the tools the agent calls are declared in :mod:`.analysis_tools`.
"""
