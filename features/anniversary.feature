Feature: Customers are thanked on the night of their anniversary
  Every night the engine finds the customers whose anniversary it is and thanks each of them as
  the anniversary programme says: only the best gift that fits them, and only once a year.

  Background:
    Given the programmes shipped with the engine

  Scenario: Công ty An Phát gets its thanks on the night of its third anniversary
    Given Công ty An Phát, an SME customer since 25 November 2023
    When the night of 25 November 2026 has run
    Then it has 300 reward points, still there on 24 November 2027 and gone on 25 November 2027
    And it was thanked by third-anniversary
    And no thank-you hamper is waiting for billing

  Scenario: Five years with us brings a thank-you hamper as well
    Given Công ty Hoà Bình, an SME customer since 25 November 2021
    When the night of 25 November 2026 has run
    Then it has 500 reward points, still there on 24 November 2027 and gone on 25 November 2027
    And it was thanked by fifth-anniversary
    And a thank-you hamper is waiting for billing

  Scenario: Thank-you hampers are given while stocks last
    Given all 500 thank-you hampers of the catalogue have been given
    And Công ty Hoà Bình, an SME customer since 25 November 2021
    When the night of 25 November 2026 has run
    Then it has 500 reward points, still there on 24 November 2027 and gone on 25 November 2027
    And it was thanked by fifth-anniversary
    And no thank-you hamper is waiting for billing
    And the night noted that the thank-you hamper was out of stock

  Scenario: Running the night twice gives nothing more
    Given Công ty An Phát, an SME customer since 25 November 2023
    And the night of 25 November 2026 has run
    When the night of 25 November 2026 runs again
    Then it has 300 reward points, still there on 24 November 2027 and gone on 25 November 2027
    And it was thanked by third-anniversary

  Scenario: A customer since 29 February is thanked on 28 February
    Given Công ty Bốn Mùa, a home customer since 29 February 2024
    When the night of 27 February 2025 has run
    Then it has 0 reward points
    When the night of 28 February 2025 has run
    Then it has 100 reward points, still there on 27 February 2026 and gone on 28 February 2026
    And it was thanked by first-anniversary
