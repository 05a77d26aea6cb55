"""The warehouse: connections and transactions, migrations, loading outcomes, figures, certification, the writer's
lock and publishing, the Parquet lake.
"""
