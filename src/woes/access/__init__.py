"""Access: who the caller is (Principal), what it may do (scopes, roles, section permissions) and the request
dependencies that enforce it (require, ReadDB, WriteDB). Every domain's routes use it; it names no domain."""
