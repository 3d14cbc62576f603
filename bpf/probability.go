package bpf

// ProbabilityOne is 100% in basis points, the unit of every probability the
// programs read (net_cfg.probability, tb_sf_config.probability): the
// TB_PROB_ONE of include/probability.h, which a test holds to this value.
const ProbabilityOne = 10000
