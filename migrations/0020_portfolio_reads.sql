-- Read APIs over the team's spreadsheets and the users' tasks (issue 12).

-- A queued task its user cancelled (`DELETE /v1/tasks/{id}`): it holds no slot and no
-- credits, and the fetcher skips it (it only takes queued or fetching tasks).
ALTER TABLE tasks DROP CONSTRAINT tasks_status_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_status_check
    CHECK (status IN ('queued', 'fetching', 'analysing', 'completed', 'failed', 'cancelled'));

-- What a KPI row's `tipo` says it is: 'actual', 'budget', 'forecast', or NULL (another
-- scenario). A blank tipo is an actual figure: the sheets leave it out for real values.
-- The one definition, used by the budget-vs-actual view and the KPI tracker alike.
CREATE FUNCTION kpi_scenario(tipo text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN tipo IS NULL OR btrim(tipo) = '' THEN 'actual'
    WHEN lower(btrim(tipo)) IN ('real', 'actual', 'actuals', 'reales', 'ejecutado') THEN 'actual'
    WHEN lower(btrim(tipo)) IN ('budget', 'presupuesto', 'ppto', 'ppto.', 'plan', 'objetivo', 'target') THEN 'budget'
    WHEN lower(btrim(tipo)) IN ('forecast', 'previsión', 'prevision', 'estimado', 'estimate') THEN 'forecast'
END;

-- Lists of loads filtered by status, newest first.
CREATE INDEX data_versions_by_status ON data_versions (status, version_id DESC);
