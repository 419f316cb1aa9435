//! WeChat Pay's enumerations, typed and forward compatible: a value this SDK does not know yet
//! parses into `Other` carrying the string, and is written back unchanged.

use crate::wire_enum;

wire_enum! {
    /// What the after-sales split is for (`type`).
    ///
    /// ```
    /// use wechatpay_core::SharingType;
    /// assert_eq!(SharingType::from("SERVICE_FEE_INCOME"), SharingType::ServiceFeeIncome);
    /// assert_eq!(SharingType::from("NEW_TYPE").as_str(), "NEW_TYPE");
    /// ```
    SharingType {
        /// Service-fee income returned after an after-sales event.
        ServiceFeeIncome = "SERVICE_FEE_INCOME",
    }
}

wire_enum! {
    /// The after-sales event behind the split (`scene`).
    ///
    /// ```
    /// use wechatpay_core::Scene;
    /// let s: Scene = serde_json::from_str("\"RETURN_GOODS\"")?;
    /// assert_eq!(s, Scene::ReturnGoods);
    /// let new: Scene = serde_json::from_str("\"SOMETHING_NEW\"")?;
    /// assert_eq!(serde_json::to_string(&new)?, "\"SOMETHING_NEW\"");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    Scene {
        /// A ticket was refunded.
        RefundTicket = "REFUND_TICKET",
        /// A ticket was changed.
        ChangeTicket = "CHANGE_TICKET",
        /// Goods were returned.
        ReturnGoods = "RETURN_GOODS",
    }
}

wire_enum! {
    /// Where an after-sales split stands (`result`).
    ProfitSharingResult {
        /// Not final: query again later.
        Processing = "PROCESSING",
        /// Final: the funds moved.
        Success = "SUCCESS",
        /// Final: the funds did not move, or went back to the funding sub-merchant.
        Failed = "FAILED",
    }
}

impl ProfitSharingResult {
    /// Whether the result will not change any more. An unknown value is treated as not final,
    /// so a poller keeps asking rather than acting on something it does not understand.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Success | Self::Failed)
    }
}

wire_enum! {
    /// Why a split failed (`fail_reason`).
    FailReason {
        /// The receiver's account is abnormal.
        AccountAbnormal = "ACCOUNT_ABNORMAL",
        /// No profit-sharing relation with the receiver.
        NoRelation = "NO_RELATION",
        /// The receiver is flagged as high risk.
        ReceiverHighRisk = "RECEIVER_HIGH_RISK",
        /// The receiver has not verified their real name.
        ReceiverRealNameNotVerified = "RECEIVER_REAL_NAME_NOT_VERIFIED",
        /// The merchant lacks the authorization.
        NoAuth = "NO_AUTH",
        /// The receiver reached its receipt limit.
        ReceiverReceiptLimit = "RECEIVER_RECEIPT_LIMIT",
        /// The paying account is abnormal.
        PayerAccountAbnormal = "PAYER_ACCOUNT_ABNORMAL",
        /// The request was invalid.
        InvalidRequest = "INVALID_REQUEST",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_round_trip() {
        for wire in [
            "REFUND_TICKET",
            "CHANGE_TICKET",
            "RETURN_GOODS",
            "FUTURE_SCENE",
        ] {
            let json = format!("\"{wire}\"");
            let scene: Scene = serde_json::from_str(&json).expect("parses");
            assert_eq!(serde_json::to_string(&scene).expect("writes"), json);
        }
        let r: ProfitSharingResult = serde_json::from_str("\"CANCELLED\"").expect("parses");
        assert_eq!(r, ProfitSharingResult::Other("CANCELLED".into()));
        assert!(!r.is_final());
        assert!(!r.is_known());
        let f = FailReason::from("NO_RELATION");
        assert_eq!(f, FailReason::NoRelation);
        assert_eq!(f.to_string(), "NO_RELATION");
    }

    #[test]
    fn non_strings_are_refused() {
        assert!(serde_json::from_str::<Scene>("1").is_err());
        assert!(serde_json::from_str::<Scene>("null").is_err());
    }
}
