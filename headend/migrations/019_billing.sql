-- Billing storage (issue 7): tariffs, norms and rules versioned by the date they take effect,
-- billing periods (open | closed) and accrual lines. The maths is in src/billing (pure); these
-- tables keep its inputs and outputs. A closed period's lines are frozen: a trigger refuses any
-- UPDATE or DELETE of them, and inserting a line into a closed period. Corrections of a closed
-- period arrive as 'adjustment' lines in the next open period (adjusts_period names the closed one).

CREATE TABLE billing_tariffs (
  id          bigserial PRIMARY KEY,
  org_id      bigint NOT NULL REFERENCES organisations(id),
  resource    text NOT NULL CHECK (resource IN ('heat', 'hot_water', 'cold_water', 'wastewater', 'electricity', 'gas')),
  valid_from  date NOT NULL,
  tariff      jsonb NOT NULL,             -- src/billing/tariffs.ts Tariff
  created_by  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, resource, valid_from)
);

CREATE TABLE billing_norms (
  id          bigserial PRIMARY KEY,
  org_id      bigint NOT NULL REFERENCES organisations(id),
  resource    text NOT NULL CHECK (resource IN ('heat', 'hot_water', 'cold_water', 'wastewater', 'electricity', 'gas')),
  valid_from  date NOT NULL,
  -- basis 'resident': per registered resident per month (individual consumption without a reading);
  -- basis 'common_area_m2': per m² of common property per month (caps the common-house volume).
  basis       text NOT NULL DEFAULT 'resident' CHECK (basis IN ('resident', 'common_area_m2')),
  per_resident double precision NOT NULL CHECK (per_resident >= 0),  -- the norm per unit of `basis`
  created_by  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, resource, basis, valid_from)
);

CREATE TABLE billing_rules (
  id              bigserial PRIMARY KEY,
  org_id          bigint NOT NULL REFERENCES organisations(id),
  effective_from  date NOT NULL,
  rules           jsonb NOT NULL,         -- src/billing/rules.ts BillingRules (without effectiveFrom)
  created_by      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, effective_from)
);

CREATE TABLE billing_periods (
  org_id      bigint NOT NULL REFERENCES organisations(id),
  period      date NOT NULL CHECK (extract(day FROM period) = 1),   -- first day of the month
  status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  closed_at   timestamptz,
  closed_by   text,
  PRIMARY KEY (org_id, period),
  CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);

CREATE TABLE accrual_lines (
  id              bigserial PRIMARY KEY,
  org_id          bigint NOT NULL,
  period          date NOT NULL,
  building_id     bigint NOT NULL REFERENCES buildings(id),
  account_id      bigint NOT NULL REFERENCES personal_accounts(id),
  resource        text NOT NULL,
  meter_id        bigint REFERENCES meters(id),
  method          text NOT NULL CHECK (method IN ('measured', 'average', 'norm', 'common_house')),
  quantity        double precision NOT NULL,
  parts           jsonb NOT NULL,         -- [{label, quantity, price, amount}] (amounts in kopecks)
  amount_kop      bigint NOT NULL,
  note            text,
  sources         jsonb NOT NULL DEFAULT '[]',   -- readings used: [{meterId, time, version}]
  kind            text NOT NULL DEFAULT 'regular' CHECK (kind IN ('regular', 'adjustment')),
  adjustment_kind text CHECK (adjustment_kind IN ('reversal', 'recalculated')),
  adjusts_period  date,
  export_id       text NOT NULL UNIQUE,  -- deterministic: a pull of the same line gives the same id
  computed_at     timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (org_id, period) REFERENCES billing_periods (org_id, period),
  CHECK ((kind = 'adjustment') = (adjusts_period IS NOT NULL AND adjustment_kind IS NOT NULL))
);
CREATE INDEX accrual_lines_period_idx ON accrual_lines (org_id, period, building_id);
CREATE INDEX accrual_lines_meter_idx ON accrual_lines (meter_id, period) WHERE meter_id IS NOT NULL;

CREATE FUNCTION accrual_lines_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  IF TG_OP = 'INSERT' THEN r := NEW; ELSE r := OLD; END IF;
  IF EXISTS (SELECT 1 FROM billing_periods p WHERE p.org_id = r.org_id AND p.period = r.period AND p.status = 'closed') THEN
    RAISE EXCEPTION 'billing period % of organisation % is closed: its accrual lines cannot be changed (%)', r.period, r.org_id, TG_OP
      USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER accrual_lines_frozen BEFORE INSERT OR UPDATE OR DELETE ON accrual_lines
  FOR EACH ROW EXECUTE FUNCTION accrual_lines_frozen();

-- A closed period stays closed.
CREATE FUNCTION billing_periods_no_reopen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status = 'closed' THEN
    RAISE EXCEPTION 'billing period % of organisation % is closed and cannot be changed', OLD.period, OLD.org_id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER billing_periods_no_reopen BEFORE UPDATE OR DELETE ON billing_periods
  FOR EACH ROW EXECUTE FUNCTION billing_periods_no_reopen();
