from socialcare.cli import run

run()
