-- The TWG's reports kept by month (internal/store/reportmonths.go,
-- internal/reports/months.go).
--
-- A report over a year reads every obligation instance of that year, which
-- at national scale takes seconds, although the figures of a month that is
-- over rarely change. A month's figures are therefore kept once built, in
-- report_months, and are good for as long as nothing that counts in them
-- has changed since. What changed is recorded here, in the same
-- transaction as the change, by the triggers below: the due time of each
-- affected deadline in report_changes, an append-only list (no row is ever
-- updated, so concurrent writers never wait for one another on it). A kept
-- month is good when report_changes holds no time in it; the transaction
-- that builds a month deletes the times of that month it saw, from the
-- same snapshot as the figures it read, so a change committed meanwhile
-- stays listed and the month is built again next time. Times, not days:
-- months in the SOP's time zone do not start at midnight UTC, and two
-- months must never share a recorded change.
CREATE TABLE report_changes (
    at timestamptz NOT NULL
);
CREATE INDEX report_changes_at_idx ON report_changes (at);

-- A month's figures: report names the report ('compliance'), [month_from,
-- month_to) the month in the SOP's time zone, config a fingerprint of what
-- they were computed with (the SOP versions' met_by lists), data their
-- encoding (internal/reports/months.go). Anonymised counts and times only.
CREATE TABLE report_months (
    report     text NOT NULL,
    month_from timestamptz NOT NULL,
    month_to   timestamptz NOT NULL,
    config     text NOT NULL,
    built_at   timestamptz NOT NULL DEFAULT now(),
    data       bytea NOT NULL,
    PRIMARY KEY (report, month_from, month_to, config)
);
CREATE INDEX report_months_span_idx ON report_months (month_from, month_to);

-- An obligation instance counts in the month of its due time. A change to
-- one that the report reads (its status, times, owner, kind, obligation or
-- version) changes the month of its old and of its new due time.
CREATE FUNCTION report_obligations_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_changes (at)
    SELECT DISTINCT n.due_at FROM new_rows n;
    RETURN NULL;
END $$;

CREATE FUNCTION report_obligations_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_changes (at)
    SELECT DISTINCT d FROM (
        SELECT o.due_at AS d1, n.due_at AS d2
        FROM old_rows o JOIN new_rows n USING (id)
        WHERE (o.status, o.met_at, o.due_at, o.starts_at, o.owner_agency_id, o.kind, o.obligation, o.sop_version, o.case_id)
              IS DISTINCT FROM
              (n.status, n.met_at, n.due_at, n.starts_at, n.owner_agency_id, n.kind, n.obligation, n.sop_version, n.case_id)
    ) x, LATERAL (VALUES (x.d1), (x.d2)) v(d);
    RETURN NULL;
END $$;

CREATE FUNCTION report_obligations_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_changes (at)
    SELECT DISTINCT o.due_at FROM old_rows o;
    RETURN NULL;
END $$;

CREATE TRIGGER report_obligations_insert AFTER INSERT ON obligations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_obligations_inserted();
CREATE TRIGGER report_obligations_update AFTER UPDATE ON obligations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_obligations_updated();
CREATE TRIGGER report_obligations_delete AFTER DELETE ON obligations
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_obligations_deleted();

-- A breached deadline of a case is met late by a later event of the case
-- (internal/store/reports.go): a new event can change the month of each of
-- the case's breached deadlines.
CREATE FUNCTION report_events_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_changes (at)
    SELECT DISTINCT o.due_at
    FROM (SELECT DISTINCT case_id FROM new_rows) e
    JOIN obligations o ON o.case_id = e.case_id AND o.status = 'breached';
    RETURN NULL;
END $$;

CREATE TRIGGER report_events_insert AFTER INSERT ON case_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_events_inserted();

-- The compliance report counts an instance under its case's region: a case
-- moved to another region changes the months of all its deadlines.
CREATE FUNCTION report_cases_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_changes (at)
    SELECT DISTINCT o.due_at
    FROM old_rows c JOIN new_rows n USING (id)
    JOIN obligations o ON o.case_id = n.id
    WHERE c.region IS DISTINCT FROM n.region OR c.opened_at IS DISTINCT FROM n.opened_at;
    RETURN NULL;
END $$;

CREATE TRIGGER report_cases_update AFTER UPDATE ON cases
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_cases_updated();
