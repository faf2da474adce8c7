-- Which month a reading's consumption belongs to (readings/consumption.ts). 'window' (ПП 354 п. 31(к),
-- 42): a manually read meter's month is closed by its reading dated in that month — the collection
-- window's reading — minus the previous month's; telemetered meters are still interpolated to the
-- month's bounds. 'calendar': every meter is interpolated to the bounds (the earlier behaviour).
ALTER TABLE buildings ADD COLUMN period_attribution text NOT NULL DEFAULT 'window'
  CHECK (period_attribution IN ('window', 'calendar'));
