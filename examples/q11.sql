-- Nexmark q11: how many bids each bidder makes per session of activity (a session ends after
-- 10 seconds without a bid from that bidder).
CREATE TABLE bid (
  auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, dateTime TIMESTAMP(3), extra STRING,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'datagen', 'kind' = 'bid', 'events' = '100000', 'seed' = '1');
CREATE TABLE out (bidder BIGINT, bid_count BIGINT, window_start TIMESTAMP(3), window_end TIMESTAMP(3));
INSERT INTO out SELECT bidder, COUNT(*) AS bid_count, window_start, window_end FROM
  TABLE(SESSION(TABLE bid PARTITION BY bidder, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
  GROUP BY bidder, window_start, window_end;
