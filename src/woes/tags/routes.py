"""Tag routes. Reads need `workspace:read`, changes `workspace:write` (for operators: owners and admins)."""

from fastapi import APIRouter

from woes.access.deps import ReadDB, WriteDB, fast_read, require
from woes.core.crud import Access, CrudRoutes, Narrow
from woes.tags import service
from woes.tags.models import Tag
from woes.tags.schemas import TagCreate, TagOut, TagPatch, TagScope

router = APIRouter(prefix="/api/v1", tags=["data settings"])
routes = CrudRoutes(router, Access(require, "workspace:read", "workspace:write", ReadDB, WriteDB, fast_read),
                    "/tags", "tag_id", TagOut, noun="tag", plural="tags")

routes.paginated("List tags (newest first)", service.list_tags_stmt, Tag, service.tag_view,
                 Narrow("scope", TagScope, "conversation/issue also include tags usable on both."))
routes.create(TagCreate, service.do_create_tag, "Create a tag")
routes.get(service.get_tag)
routes.update(TagPatch, service.do_update_tag, "Rename or restyle a tag")
routes.delete(service.do_delete_tag, "Delete a tag")
