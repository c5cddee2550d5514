"""Status routes. Reads need `workspace:read`, changes `workspace:write` (for operators: owners and admins)."""

from fastapi import APIRouter

from woes.access.deps import ReadDB, WriteDB, fast_read, require
from woes.core.crud import Access, CrudRoutes, Narrow
from woes.statuses import service
from woes.statuses.schemas import Lifecycle, StatusCreate, StatusOut, StatusPatch

router = APIRouter(prefix="/api/v1", tags=["data settings"])
routes = CrudRoutes(router, Access(require, "workspace:read", "workspace:write", ReadDB, WriteDB, fast_read),
                    "/statuses", "status_id", StatusOut, noun="status", plural="statuses")

routes.whole("List statuses in order (the whole list; hasMore is always false)", service.list_statuses,
             service.status_view, Narrow("lifecycle", Lifecycle, "Only statuses of this lifecycle."))
routes.create(StatusCreate, service.do_create_status, "Add a status label for a lifecycle state")
routes.get(service.get_status)
routes.update(StatusPatch, service.do_update_status, "Relabel, move or make a status the default")
routes.delete(service.do_delete_status, "Delete a status (not a lifecycle's default)")
