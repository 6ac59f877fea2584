export const config = {
  partnerKey: "rp_79b0eb2d2779cd0fce2a184c9159e9fdf29e95c2",  // hex body
  appKey: "rk_AGal2wLPgMzhrr19vpbFdq5L",
};
