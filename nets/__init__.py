"""PyTorch companion: CoGD coupling for BN/mask pruning, iRDA, RVSCGD binarized networks."""
