-- 0130_function_kind.sql — what the planner needs of a user-defined function, found once when
-- it is stored: the api loads its source in a sandboxed worker child at create and update and
-- keeps the answer here, so that the api and the controlplane plan pipelines from these facts
-- and never load tenant Lua themselves (only the sandboxed worker runs it).
--
-- kind: 'scalar' (the chunk returns a function) or 'aggregate' (a table with init, accumulate
-- and result); merge: an aggregate's table has merge (session windows need it), NULL for a
-- scalar. Rows stored before this migration keep kind NULL: "not checked yet". The api checks
-- such a function again in a worker child the first time a pipeline names it and stores the
-- answer; until then the controlplane leaves it out of its own planning.
ALTER TABLE functions ADD COLUMN kind text CHECK (kind IN ('scalar', 'aggregate'));
ALTER TABLE functions ADD COLUMN merge boolean;
