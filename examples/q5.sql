-- Nexmark q5 (first half): bids per auction in 10-second windows sliding every 2 seconds.
CREATE TABLE bid (
  auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, dateTime TIMESTAMP(3), extra STRING,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'datagen', 'kind' = 'bid', 'events' = '100000', 'seed' = '1');
CREATE TABLE out (auction BIGINT, num BIGINT, window_start TIMESTAMP(3), window_end TIMESTAMP(3));
INSERT INTO out SELECT auction, COUNT(*) AS num, window_start, window_end FROM
  TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
  GROUP BY auction, window_start, window_end;
