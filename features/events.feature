Feature: Billing tells the engine what happened, and customers are thanked exactly once
  The billing system reports signings, renewals, paid invoices and outages as they happen,
  sometimes twice, sometimes late. Each report is applied once: a report sent again changes
  nothing, and the points, gifts and bill credits it earned are given once.

  Background:
    Given the programmes shipped with the engine

  Scenario: Welcome points wait out the 30-day cooling-off
    Given Công ty An Phát, an SME customer since 2026-11-25
    When billing reports that it signed a contract of 3,000,000 VND a month on 2026-11-25
    Then it has 0 reward points
    And it has 500 points waiting until 2026-12-25

  Scenario: Cancelling within the cooling-off takes the welcome points back
    Given Công ty An Phát, an SME customer since 2026-11-25
    And billing reported that it signed a contract of 3,000,000 VND a month on 2026-11-25
    When billing reports that it cancelled that contract on 2026-12-10
    Then it has 0 reward points
    And it has no points waiting

  Scenario: A renewal bonus for a large contract
    Given Công ty An Phát, an SME customer since 2024-03-01
    And billing reported that it signed a contract of 5,000,000 VND a month on 2024-03-01
    When billing reports that it renewed that contract for 24 months on 2026-03-01
    Then it has 800 reward points

  Scenario: An invoice paid twice by mistake gives points once
    Given Công ty An Phát, an SME customer since 2024-03-01
    When billing reports that it paid an invoice of 5,000,000 VND
    And billing sends the same report again
    Then it has 500 reward points
    And billing was told the second report was already applied

  Scenario: The same invoice reported again under a new event id gives no second points
    Given Công ty An Phát, an SME customer since 2024-03-01
    When billing reports that it paid an invoice of 5,000,000 VND
    And billing reports the same invoice again under a new event id
    Then it has 500 reward points
    And billing is told the invoice was already reported

  Scenario: A prospect referred by name and reported twice is thanked once
    Given Công ty An Phát, an SME customer since 2024-03-01
    When billing reports that the prospect "Nhà hàng Sen Vàng" it referred has signed
    And billing reports that the prospect "nhà hàng  SEN VÀNG" it referred has signed
    Then it has 500 reward points
    And billing is told the prospect was already reported

  Scenario: Goodwill for a two-day outage
    Given Nhà hàng Sen Vàng, an SME customer since 2025-01-10
    When billing reports an unplanned outage of 48 hours
    Then billing is asked to credit 50,000 VND on its next bill

  Scenario: A long outage waits for marketing's approval
    Given Nhà hàng Sen Vàng, an SME customer since 2025-01-10
    When billing reports an unplanned outage of 360 hours
    Then a credit of 700,000 VND waits for marketing's approval
    And billing is asked to credit nothing yet

  Scenario: Planned works announced in advance earn no credit
    Given Nhà hàng Sen Vàng, an SME customer since 2025-01-10
    When billing reports a planned outage of 48 hours
    Then billing is asked to credit nothing yet

  Scenario: A renewal for a contract the engine has not seen is refused until billing resends it
    Given Công ty An Phát, an SME customer since 2024-03-01
    When billing reports that it renewed contract HD-999 for 12 months on 2026-03-01
    Then billing is told to send the earlier event first, about "HD-999"
