from csc import LearningOptions


def test_coding_arguments_are_those_of_the_coding_step():
    options = LearningOptions(sparsity_weight=0.5, coding_penalty=(2, 3), coding_iter=7,
                              relaxation=1.5, non_negative=True)
    assert options.coding_arguments() == {
        "sparsity_weight": 0.5, "rho_data": 2.0, "rho_sparse": 3.0, "max_iter": 7,
        "relaxation": 1.5, "non_negative": True}
    assert options.coding_arguments(100)["max_iter"] == 100
    assert LearningOptions(sparsity_weight=0.2).coding_arguments()["rho_sparse"] == 3.0 * 0.2


def test_images_per_group_follows_the_solver_or_group_size():
    assert LearningOptions().images_per_group == 10
    assert LearningOptions(dictionary_solver="woodbury").images_per_group is None
    assert LearningOptions(dictionary_solver="consensus").images_per_group == 1
    assert LearningOptions(group_size=4).images_per_group == 4
