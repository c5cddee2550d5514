"""Priority routes. Reads need `workspace:read`, changes `workspace:write` (for operators: owners and admins)."""

from fastapi import APIRouter

from woes.access.deps import ReadDB, WriteDB, fast_read, require
from woes.core.crud import Access, CrudRoutes
from woes.priorities import service
from woes.priorities.schemas import PriorityCreate, PriorityOut, PriorityPatch

router = APIRouter(prefix="/api/v1", tags=["data settings"])
routes = CrudRoutes(router, Access(require, "workspace:read", "workspace:write", ReadDB, WriteDB, fast_read),
                    "/priorities", "priority_id", PriorityOut, noun="priority", plural="priorities")

routes.whole("List priorities, lowest first (the whole list; hasMore is always false)", service.list_priorities,
             service.priority_view)
routes.create(PriorityCreate, service.do_create_priority, "Add a priority")
routes.get(service.get_priority)
routes.update(PriorityPatch, service.do_update_priority, "Relabel, move or make a priority the default")
routes.delete(service.do_delete_priority, "Delete a priority (not the default)")
