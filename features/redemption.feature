Feature: Customers spend their points on rewards, and billing applies them on the next bill
  A customer spends points on a reward from the catalogue. The redemption waits until billing
  applies it on the next bill. If it is cancelled first, the points come back exactly as they
  were, with the dates they expire on.

  Background:
    Given the programmes shipped with the engine
    And chị Lan has 600 points expiring on 2027-01-01 and 900 expiring on 2027-06-01

  Scenario: Chị Lan redeems a 100,000 VND bill credit with 1,000 points
    When chị Lan redeems "Giảm 100.000đ hóa đơn"
    Then her redemption of 1,000 points is waiting for the next bill
    And she has 500 points left
    And billing sees a bill credit of 100,000 VND to apply for chị Lan

  Scenario: Not enough points: told how many she has
    Given chị Lan has redeemed "Giảm 100.000đ hóa đơn"
    When chị Lan redeems "Giảm 100.000đ hóa đơn" again
    Then she is told she has 500 points and the reward needs 1,000
    And she has 500 points left

  Scenario: Her phone sends the same request twice, and she pays once
    When chị Lan redeems "Giảm 100.000đ hóa đơn" and her phone sends the request twice
    Then both answers show the same redemption
    And she has 500 points left

  Scenario: Billing applies the credit on the next bill
    Given chị Lan has redeemed "Giảm 100.000đ hóa đơn"
    When billing applies it on the next bill
    Then her redemption is fulfilled
    And billing has nothing more to apply

  Scenario: A cancelled redemption gives the points back
    Given chị Lan has redeemed "Giảm 100.000đ hóa đơn"
    When chị Lan cancels it
    Then her redemption is cancelled
    And she has 1,500 points left
    And 600 of them expire on 2027-01-01 and 900 on 2027-06-01
    And billing has nothing more to apply

  Scenario: A credit already on the bill cannot be cancelled
    Given chị Lan has redeemed "Giảm 100.000đ hóa đơn"
    And billing has applied it on the next bill
    When chị Lan cancels it
    Then she is told it is already fulfilled
    And she has 500 points left
