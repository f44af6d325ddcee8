"""Spark's exception classes, registered with :mod:`headwater.engines.errors`."""

from py4j.protocol import Py4JError
from pyspark.errors import (
    ArithmeticException,
    NumberFormatException,
    PySparkException,
)

from headwater.engines import errors

errors.register(
    "spark",
    # Py4JError: the JVM's own failures (a cancelled job surfaces as one on the driver)
    query=(PySparkException, Py4JError),
    overflow=(ArithmeticException, NumberFormatException),
)
