-- Where a person moved in from (PostgreSQL).
--
-- moved_in_from is the municipality code the resident registry gives for a person who moved in
-- (転入前の自治体): the area that keeps the doses given before the move, and the only area an
-- inquiry about them asks. It names a place, not the person, and is stored as plainly as the
-- moved-out and deceased flags. The index finds an area's movers for the duplicate scan.

ALTER TABLE residents ADD COLUMN moved_in_from CHAR(6);
CREATE INDEX residents_moved_in ON residents (municipality_code, moved_in_from)
    WHERE moved_in_from IS NOT NULL;
