-- A change's practice is not checked row by row against the practice table any more: that check ran
-- a query per change (a third of the cost of storing a practice's backlog, measured by lifeboat-bench).
-- It holds without it: a push locks its practice's row (SELECT ... FOR UPDATE, which finds the
-- practice or refuses the push) in the transaction that stores the changes, row-level security lets a
-- transaction store changes only for the practice it names, and no practice is ever removed (there
-- is no DELETE policy on practice).
ALTER TABLE change DROP CONSTRAINT change_practice_id_fkey;
