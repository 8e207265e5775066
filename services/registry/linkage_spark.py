"""The record-linkage model on Spark: a Splink ``SparkAPI`` over a local-mode session.

For the national scale (about 125 million residents, tens of millions of orphan records) the
registry's model runs on Spark instead of the embedded DuckDB. Nothing about the model lives
here: :func:`services.registry.linkage.predict` and :func:`~services.registry.linkage.train`
take this module's backend as they take ``DuckDBAPI()``, and render the comparisons from the
one :func:`~services.registry.linkage.settings` in Spark's SQL dialect.

This module only builds the session the way Splink needs it: Splink's Scala similarity jar
on the class path (its ``damerau_levenshtein`` is a Spark UDF), the web UI off, few shuffle
partitions for one machine, and intermediate tables persisted in memory (no checkpoint
directory to manage). A cluster deployment builds its own session and passes it to
:func:`spark_api`. Needs the optional ``spark`` extra (``pyspark``) and Java 17+.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def local_session(
    *,
    cores: int = 1,
    shuffle_partitions: int = 4,
    driver_memory: str = "2g",
    app_name: str = "mynumber-reconcile",
) -> SparkSession:
    """A local-mode session (``local[cores]``) ready for Splink; stop it when done."""
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    if cores < 1 or shuffle_partitions < 1:
        raise ValueError("cores and shuffle_partitions must be at least 1")
    # local mode stays on loopback (the JVM reads this when it starts)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return (
        SparkSession.builder.master(f"local[{cores}]")
        .appName(app_name)
        .config("spark.jars", similarity_jar_location())
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.default.parallelism", str(shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )


def spark_api(session: SparkSession) -> Any:
    """Splink's Spark backend over ``session`` (its similarity UDFs registered)."""
    from splink.backends.spark import SparkAPI

    partitions = int(session.conf.get("spark.sql.shuffle.partitions") or 4)
    return SparkAPI(
        spark_session=session,
        break_lineage_method="persist",
        num_partitions_on_repartition=partitions,
    )
