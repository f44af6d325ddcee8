"""The UI's pages: each module here exposing ``router`` (a FastAPI ``APIRouter``) is
included by :func:`headwater.ui.mount`. Every route depends on
``headwater.ui.auth.require(role)``; a page shown in the navigation bar takes the route name
listed in :data:`headwater.ui.render.NAV`."""
