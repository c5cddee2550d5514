from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from woes.core.schemas import ApiInput

SourceType = Literal["auto", "openapi", "markdown", "json", "website", "graphql", "asyncapi", "postman", "grpc", "wsdl"]


class CrawlOptions(ApiInput):
    max_pages: int = Field(200, ge=1, le=5000)
    max_depth: int = Field(3, ge=0, le=10)
    max_bytes: int = Field(20_000_000, ge=1000, le=200_000_000)


class SourceCreate(ApiInput):
    name: str = Field(min_length=1, max_length=200)
    type: SourceType = "auto"
    content: str | None = Field(None, min_length=1, max_length=50 * 1024 * 1024)
    url: str | None = Field(None, max_length=2048)
    git_url: str | None = Field(None, max_length=2048)
    git_path: str | None = Field(None, max_length=500)
    options: CrawlOptions | None = None

    @model_validator(mode="after")
    def _one_origin(self) -> SourceCreate:
        given = [n for n in ("content", "url", "git_url") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError("Give exactly one of content, url or gitUrl (or upload files as multipart).")
        return self


class SourcePatch(ApiInput):
    name: str | None = Field(None, min_length=1, max_length=200)
    options: CrawlOptions | None = None


def options_dict(options: CrawlOptions | None) -> dict[str, Any]:
    return options.model_dump(by_alias=True) if options else {}
