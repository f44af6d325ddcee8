"""MySQL and MariaDB sources: ``mysql://`` and ``mariadb://`` connection URLs.

:class:`MySQLConnector` (in :mod:`.connector`) reads a table or a query as a stream of Arrow
record batches, with an incremental cursor window compared server-side in the column's own
type. :mod:`.types` maps each MySQL type to Arrow (table: ``docs/types-mysql.md``).
"""

from headwater.sources.mysql.connector import CAPABILITIES, MySQLConnector

__all__ = ["CAPABILITIES", "MySQLConnector"]
