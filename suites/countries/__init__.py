"""Multi-hop country questions over pycountry: tools, graded tasks with a held-out split, scripted and ReAct teams.

Not an environment suite: reach it with your own team and a task loader,

    teammind run --team teammind.suites.countries.team:scripted_team --tasks teammind.suites.countries.tasks:load_tasks:n=5
"""
