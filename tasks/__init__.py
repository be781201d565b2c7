"""The DAG's steps as Prefect tasks: one task per stage and per (model, dataset), never per sample."""
