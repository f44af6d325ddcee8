"""The pure model of a project: parse a folder into a :class:`Graph`. No database I/O."""

from headwater.project.asset import Asset, SourceSpec
from headwater.project.graph import Graph
from headwater.project.loader import Project, load_project
from headwater.project.python_assets import model, task
from headwater.project.selection import select

__all__ = ["Asset", "Graph", "Project", "SourceSpec", "load_project", "model", "select", "task"]
