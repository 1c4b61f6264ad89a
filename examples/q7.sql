-- Nexmark q7 (first half): the highest bid in each 10-second window.
CREATE TABLE bid (
  auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, dateTime TIMESTAMP(3), extra STRING,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'datagen', 'kind' = 'bid', 'events' = '100000', 'seed' = '1');
CREATE TABLE out (maxprice BIGINT, window_start TIMESTAMP(3), window_end TIMESTAMP(3));
INSERT INTO out SELECT MAX(price) AS maxprice, window_start, window_end FROM
  TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
  GROUP BY window_start, window_end;
