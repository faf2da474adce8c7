-- 025: heating fallback and "not applicable" imbalance.
-- billing_norms basis 'heating_m2': heat (Gcal) per m² of premises per month of the heating season,
-- charged by area when the building heat meter has had no reading for longer than its average may
-- stand in (ПП 354 п. 59(1), 60(1)).
-- accrual_lines.heating_method 'building_average' / 'norm': a heating-by-area month charged by that
-- fallback because the building meter had no reading for the month.
-- imbalance_reports.status 'not_applicable': a resource billed by area (heat without apartment heat
-- meters) has no apartment side; its report carries no imbalance or percentage and raises no alert.

ALTER TABLE billing_norms DROP CONSTRAINT billing_norms_basis_check;
ALTER TABLE billing_norms ADD CONSTRAINT billing_norms_basis_check CHECK (basis IN ('resident', 'common_area_m2', 'heating_m2'));

ALTER TABLE accrual_lines DROP CONSTRAINT accrual_lines_heating_method_check;
ALTER TABLE accrual_lines ADD CONSTRAINT accrual_lines_heating_method_check
  CHECK (heating_method IN ('monthly_actual', 'even_over_year', 'heating_season', 'building_average', 'norm', 'annual_correction'));

ALTER TABLE imbalance_reports DROP CONSTRAINT imbalance_reports_status_check;
ALTER TABLE imbalance_reports ADD CONSTRAINT imbalance_reports_status_check
  CHECK (status IN ('ok', 'high_loss', 'negative_imbalance', 'insufficient_data', 'not_applicable'));
