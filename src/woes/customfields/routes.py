"""Custom field routes. Reads need `workspace:read`, changes `workspace:write` (for operators: owners and admins)."""

from fastapi import APIRouter

from woes.access.deps import ReadDB, WriteDB, fast_read, require
from woes.core.crud import Access, CrudRoutes, Narrow
from woes.customfields import service
from woes.customfields.models import CustomField
from woes.customfields.schemas import CustomFieldCreate, CustomFieldOut, CustomFieldPatch, FieldTarget

router = APIRouter(prefix="/api/v1", tags=["data settings"])
routes = CrudRoutes(router, Access(require, "workspace:read", "workspace:write", ReadDB, WriteDB, fast_read),
                    "/custom-fields", "field_id", CustomFieldOut, noun="custom_field", plural="custom_fields")

routes.paginated("List custom field definitions (newest first)", service.list_custom_fields_stmt, CustomField,
                 service.custom_field_view, Narrow("target", FieldTarget, "Only fields for this kind of record."))
routes.create(CustomFieldCreate, service.do_create_custom_field, "Define a custom field")
routes.get(service.get_custom_field)
routes.update(CustomFieldPatch, service.do_update_custom_field,
              "Change a custom field's label, options, description or required flag (key, type and target are fixed)")
routes.delete(service.do_delete_custom_field, "Delete a custom field definition")
