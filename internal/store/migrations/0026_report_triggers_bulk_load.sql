-- A synthetic history written in bulk (nrm seed synthetic, store.CopyRows)
-- records no change for the kept report months (0021, 0025): with nothing
-- kept yet, a million cases would otherwise write millions of change times
-- that the first build of each month deletes again. The bulk load sets
-- nrm.bulk_load for its own transaction only (SET LOCAL) and deletes every
-- kept month when it is done; every other writer records its changes as
-- before. Only the insert triggers are concerned: a bulk load inserts.
DROP TRIGGER report_obligations_insert ON obligations;
CREATE TRIGGER report_obligations_insert AFTER INSERT ON obligations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    WHEN (current_setting('nrm.bulk_load', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION report_obligations_inserted();

DROP TRIGGER report_events_insert ON case_events;
CREATE TRIGGER report_events_insert AFTER INSERT ON case_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    WHEN (current_setting('nrm.bulk_load', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION report_events_inserted();

DROP TRIGGER report_statistics_cases_insert ON cases;
CREATE TRIGGER report_statistics_cases_insert AFTER INSERT ON cases
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    WHEN (current_setting('nrm.bulk_load', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION report_statistics_cases_inserted();

DROP TRIGGER report_statistics_events_insert ON case_events;
CREATE TRIGGER report_statistics_events_insert AFTER INSERT ON case_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    WHEN (current_setting('nrm.bulk_load', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION report_statistics_events_inserted();

DROP TRIGGER report_statistics_referrals_insert ON referrals;
CREATE TRIGGER report_statistics_referrals_insert AFTER INSERT ON referrals
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    WHEN (current_setting('nrm.bulk_load', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION report_statistics_referrals_changed();

DROP TRIGGER report_statistics_attempts_insert ON referral_attempts;
CREATE TRIGGER report_statistics_attempts_insert AFTER INSERT ON referral_attempts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    WHEN (current_setting('nrm.bulk_load', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION report_statistics_attempts_inserted();
