-- NRM PostgreSQL initialisation (docker-compose only).
--
-- Run once by the postgres image's entrypoint, as the superuser, on an EMPTY data
-- volume (files in /docker-entrypoint-initdb.d are ignored once the cluster exists).
-- The entrypoint runs *.sql files with psql, so psql meta-commands work here.
--
-- Passwords come from the container environment (set in .env, see deploy/README.md);
-- none is written in this file. \getenv needs psql 15+ (the image is postgres:16).
-- If a variable is missing, :'...' is left unexpanded and the script stops
-- (ON_ERROR_STOP is set by the entrypoint).
--
-- Layout:
--   role nrm       owns database nrm                      (nrm serve / worker / migrate)
--   role temporal  owns databases temporal, temporal_visibility (Temporal server, schema tool)
-- Neither role is a superuser, and neither can connect to the other's databases.

\set ON_ERROR_STOP on

\getenv nrm_password NRM_DB_PASSWORD
\getenv temporal_password TEMPORAL_DB_PASSWORD

CREATE ROLE nrm WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
  PASSWORD :'nrm_password';
CREATE ROLE temporal WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
  PASSWORD :'temporal_password';

-- From PostgreSQL 15 the public schema belongs to pg_database_owner, so the owner
-- of each database may create its tables in public.
CREATE DATABASE nrm OWNER nrm ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE temporal OWNER temporal ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE temporal_visibility OWNER temporal ENCODING 'UTF8' TEMPLATE template0;

REVOKE ALL ON DATABASE nrm FROM PUBLIC;
REVOKE ALL ON DATABASE temporal FROM PUBLIC;
REVOKE ALL ON DATABASE temporal_visibility FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE nrm TO nrm;
GRANT CONNECT, TEMPORARY ON DATABASE temporal TO temporal;
GRANT CONNECT, TEMPORARY ON DATABASE temporal_visibility TO temporal;

-- Temporal's PostgreSQL visibility schema (postgresql/v12/visibility, v1.2) creates
-- the btree_gin extension if it is missing. Create it here as superuser so the
-- schema tool, running as the unprivileged role temporal, never needs to.
\connect temporal_visibility
CREATE EXTENSION IF NOT EXISTS btree_gin;
