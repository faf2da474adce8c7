-- 023_billing_extra (issue 7): what billing needs beyond 019.
-- meters.failed_on: the day a meter failed. From then on it counts as "no reading" (the accrual's
-- fallback charges the rest of the month); status = 'failed' alone had no date.
-- accrual_lines: heating shared by area from the building heat meter (method 'heating'), the way
-- it was charged (heating_method: monthly_actual | even_over_year | heating_season, or
-- annual_correction for the year-end correction of even_over_year).

ALTER TABLE meters ADD COLUMN failed_on date;

ALTER TABLE accrual_lines DROP CONSTRAINT accrual_lines_method_check;
ALTER TABLE accrual_lines ADD CONSTRAINT accrual_lines_method_check
  CHECK (method IN ('measured', 'average', 'norm', 'common_house', 'heating'));
ALTER TABLE accrual_lines ADD COLUMN heating_method text
  CHECK (heating_method IN ('monthly_actual', 'even_over_year', 'heating_season', 'annual_correction'));
ALTER TABLE accrual_lines ADD CONSTRAINT accrual_lines_heating_method_pair
  CHECK ((method = 'heating') = (heating_method IS NOT NULL));
