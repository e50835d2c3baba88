-- The statistics kept by month, like the compliance report (0021,
-- internal/reports/statsmonths.go). A month's statistics count the cases
-- opened, closed or positively identified in it and the referrals and
-- attempts sent in it; the triggers below record in report_changes, in the
-- same transaction as the change, the times of the months a change of
-- those touches. report_changes is shared with the compliance report: a
-- change recorded for one report may make the other build a month again,
-- which costs a read and never a wrong figure.

-- A month's cases are read by their opening, their closure or a positive
-- decision: the closures need an index of their own.
CREATE INDEX cases_closed_idx ON cases (closed_at) WHERE closed_at IS NOT NULL;

-- A case counts in the month of its opening and of its closure, by its
-- region, sex, age band, citizenship, closure reason, screening, types and
-- countries of exploitation; its positive decisions count in theirs.
CREATE FUNCTION report_statistics_cases_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_changes (at)
    SELECT DISTINCT d FROM new_rows n, LATERAL (VALUES (n.opened_at), (n.closed_at)) v(d)
    WHERE d IS NOT NULL;
    RETURN NULL;
END $$;

CREATE FUNCTION report_statistics_cases_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH changed AS (
        SELECT n.id, o.opened_at AS o1, o.closed_at AS o2, n.opened_at AS n1, n.closed_at AS n2
        FROM old_rows o JOIN new_rows n USING (id)
        WHERE (o.opened_at, o.closed_at, o.region, o.sex, o.age_band, o.citizenship, o.screening_outcome,
               o.officer_concern, o.closure_reason, o.exploitation, o.exploitation_countries)
              IS DISTINCT FROM
              (n.opened_at, n.closed_at, n.region, n.sex, n.age_band, n.citizenship, n.screening_outcome,
               n.officer_concern, n.closure_reason, n.exploitation, n.exploitation_countries)
    )
    INSERT INTO report_changes (at)
    SELECT DISTINCT d FROM (
        SELECT v.d FROM changed c, LATERAL (VALUES (c.o1), (c.o2), (c.n1), (c.n2)) v(d)
        UNION ALL
        SELECT e.at FROM changed c JOIN case_events e ON e.case_id = c.id
        WHERE e.type IN ('preliminary_positive', 'conclusive_positive')
    ) x WHERE d IS NOT NULL;
    RETURN NULL;
END $$;

CREATE TRIGGER report_statistics_cases_insert AFTER INSERT ON cases
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_statistics_cases_inserted();
CREATE TRIGGER report_statistics_cases_update AFTER UPDATE ON cases
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_statistics_cases_updated();

CREATE FUNCTION report_statistics_events_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_changes (at)
    SELECT DISTINCT n.at FROM new_rows n WHERE n.type IN ('preliminary_positive', 'conclusive_positive');
    RETURN NULL;
END $$;

CREATE TRIGGER report_statistics_events_insert AFTER INSERT ON case_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_statistics_events_inserted();

-- A referral counts in the month it was first sent (its first attempt's,
-- or its creation's when no provider was ever found: then sent_at) by
-- service and region, with the answer times of all its attempts; an
-- attempt counts in the month it was sent, by provider and region.
CREATE FUNCTION report_statistics_referrals_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_changes (at)
    SELECT DISTINCT d FROM (
        SELECT n.sent_at AS d FROM new_rows n
        UNION ALL
        SELECT a.sent_at FROM new_rows n JOIN referral_attempts a ON a.referral_id = n.id AND a.attempt = 1
    ) x;
    RETURN NULL;
END $$;

CREATE FUNCTION report_statistics_referrals_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH changed AS (
        SELECT n.id, o.sent_at AS o1, n.sent_at AS n1
        FROM old_rows o JOIN new_rows n USING (id)
        WHERE (o.service, o.status, o.accepted_at IS NULL, o.redirections, o.attempt, o.sent_at, o.region)
              IS DISTINCT FROM
              (n.service, n.status, n.accepted_at IS NULL, n.redirections, n.attempt, n.sent_at, n.region)
    )
    INSERT INTO report_changes (at)
    SELECT DISTINCT d FROM (
        SELECT v.d FROM changed c, LATERAL (VALUES (c.o1), (c.n1)) v(d)
        UNION ALL
        SELECT a.sent_at FROM changed c JOIN referral_attempts a ON a.referral_id = c.id AND a.attempt = 1
    ) x;
    RETURN NULL;
END $$;

CREATE TRIGGER report_statistics_referrals_insert AFTER INSERT ON referrals
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_statistics_referrals_changed();
CREATE TRIGGER report_statistics_referrals_update AFTER UPDATE ON referrals
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_statistics_referrals_updated();

CREATE FUNCTION report_statistics_attempts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_changes (at)
    SELECT DISTINCT d FROM (
        SELECT n.sent_at AS d FROM new_rows n
        UNION ALL
        SELECT a.sent_at FROM new_rows n JOIN referral_attempts a ON a.referral_id = n.referral_id AND a.attempt = 1
    ) x;
    RETURN NULL;
END $$;

CREATE FUNCTION report_statistics_attempts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH changed AS (
        SELECT n.referral_id, o.sent_at AS o1, n.sent_at AS n1
        FROM old_rows o JOIN new_rows n USING (referral_id, attempt)
        WHERE (o.agency_id, o.sent_at, o.answered_at, o.answer) IS DISTINCT FROM (n.agency_id, n.sent_at, n.answered_at, n.answer)
    )
    INSERT INTO report_changes (at)
    SELECT DISTINCT d FROM (
        SELECT v.d FROM changed c, LATERAL (VALUES (c.o1), (c.n1)) v(d)
        UNION ALL
        SELECT a.sent_at FROM changed c JOIN referral_attempts a ON a.referral_id = c.referral_id AND a.attempt = 1
    ) x;
    RETURN NULL;
END $$;

CREATE TRIGGER report_statistics_attempts_insert AFTER INSERT ON referral_attempts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_statistics_attempts_inserted();
CREATE TRIGGER report_statistics_attempts_update AFTER UPDATE ON referral_attempts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_statistics_attempts_updated();
