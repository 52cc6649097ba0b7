//! The one payment rule every contract applies: only a message that takes a payment may carry
//! funds (in datapact, only `Sign`); funds sent with anything else would be stuck in a contract
//! with no way to pay them out.

use cosmwasm_std::MessageInfo;
use thiserror::Error;

/// Funds came with a message that takes none.
#[derive(Error, Debug, PartialEq, Eq)]
#[error("this message takes no payment, but {funds} came with it: send it without funds")]
pub struct FundsNotAccepted {
    /// What was sent, as `<amount><denom>` joined by commas.
    pub funds: String,
}

/// Refuses a message that carries funds.
pub fn no_funds(info: &MessageInfo) -> Result<(), FundsNotAccepted> {
    if info.funds.is_empty() {
        return Ok(());
    }
    Err(FundsNotAccepted {
        funds: info
            .funds
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(","),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cosmwasm_std::testing::message_info;
    use cosmwasm_std::{coin, Addr};

    #[test]
    fn only_a_message_without_funds_passes_and_the_refusal_names_what_came() {
        let sender = Addr::unchecked("s");
        assert_eq!(no_funds(&message_info(&sender, &[])), Ok(()));
        let err =
            no_funds(&message_info(&sender, &[coin(5, "udpt"), coin(1, "uatom")])).unwrap_err();
        assert_eq!(err.funds, "5udpt,1uatom");
        assert!(err.to_string().contains("takes no payment"));
    }
}
